/// A procedure of REMOTE_PROGRAM. Numbers are from `remote_procedure` in libvirt's remote_protocol.x
/// and never change; only the procedures this package names are listed, any other number is still a
/// valid value (and is answered with VIR_ERR_NO_SUPPORT by a server that does not implement it).
public struct RemoteProcedure: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let connectOpen = RemoteProcedure(rawValue: 1)
    public static let connectClose = RemoteProcedure(rawValue: 2)
    public static let connectGetType = RemoteProcedure(rawValue: 3)
    public static let connectGetVersion = RemoteProcedure(rawValue: 4)
    public static let connectGetMaxVcpus = RemoteProcedure(rawValue: 5)
    public static let nodeGetInfo = RemoteProcedure(rawValue: 6)
    public static let connectGetCapabilities = RemoteProcedure(rawValue: 7)
    public static let domainCreate = RemoteProcedure(rawValue: 9)
    public static let domainCreateXML = RemoteProcedure(rawValue: 10)
    public static let domainDefineXML = RemoteProcedure(rawValue: 11)
    public static let domainDestroy = RemoteProcedure(rawValue: 12)
    public static let domainGetXMLDesc = RemoteProcedure(rawValue: 14)
    public static let domainGetAutostart = RemoteProcedure(rawValue: 15)
    public static let domainGetInfo = RemoteProcedure(rawValue: 16)
    public static let domainGetMaxMemory = RemoteProcedure(rawValue: 17)
    public static let domainGetMaxVcpus = RemoteProcedure(rawValue: 18)
    public static let domainGetOSType = RemoteProcedure(rawValue: 19)
    public static let domainGetVcpus = RemoteProcedure(rawValue: 20)
    public static let connectListDefinedDomains = RemoteProcedure(rawValue: 21)
    public static let domainLookupByID = RemoteProcedure(rawValue: 22)
    public static let domainLookupByName = RemoteProcedure(rawValue: 23)
    public static let domainLookupByUUID = RemoteProcedure(rawValue: 24)
    public static let connectNumOfDefinedDomains = RemoteProcedure(rawValue: 25)
    public static let domainReboot = RemoteProcedure(rawValue: 27)
    public static let domainResume = RemoteProcedure(rawValue: 28)
    public static let domainSetAutostart = RemoteProcedure(rawValue: 29)
    public static let domainSetMemory = RemoteProcedure(rawValue: 31)
    public static let domainShutdown = RemoteProcedure(rawValue: 33)
    public static let domainSuspend = RemoteProcedure(rawValue: 34)
    public static let domainUndefine = RemoteProcedure(rawValue: 35)
    public static let connectListDefinedNetworks = RemoteProcedure(rawValue: 36)
    public static let connectListDomains = RemoteProcedure(rawValue: 37)
    public static let connectListNetworks = RemoteProcedure(rawValue: 38)
    public static let networkCreate = RemoteProcedure(rawValue: 39)
    public static let networkCreateXML = RemoteProcedure(rawValue: 40)
    public static let networkDefineXML = RemoteProcedure(rawValue: 41)
    public static let networkDestroy = RemoteProcedure(rawValue: 42)
    public static let networkGetXMLDesc = RemoteProcedure(rawValue: 43)
    public static let networkGetAutostart = RemoteProcedure(rawValue: 44)
    public static let networkGetBridgeName = RemoteProcedure(rawValue: 45)
    public static let networkLookupByName = RemoteProcedure(rawValue: 46)
    public static let networkLookupByUUID = RemoteProcedure(rawValue: 47)
    public static let networkSetAutostart = RemoteProcedure(rawValue: 48)
    public static let networkUndefine = RemoteProcedure(rawValue: 49)
    public static let connectNumOfDefinedNetworks = RemoteProcedure(rawValue: 50)
    public static let connectNumOfDomains = RemoteProcedure(rawValue: 51)
    public static let connectNumOfNetworks = RemoteProcedure(rawValue: 52)
    public static let domainGetSchedulerType = RemoteProcedure(rawValue: 56)
    public static let connectGetHostname = RemoteProcedure(rawValue: 59)
    public static let connectSupportsFeature = RemoteProcedure(rawValue: 60)
    public static let domainBlockStats = RemoteProcedure(rawValue: 64)
    public static let domainInterfaceStats = RemoteProcedure(rawValue: 65)
    public static let authList = RemoteProcedure(rawValue: 66)
    public static let connectNumOfStoragePools = RemoteProcedure(rawValue: 71)
    public static let connectListStoragePools = RemoteProcedure(rawValue: 72)
    public static let connectNumOfDefinedStoragePools = RemoteProcedure(rawValue: 73)
    public static let connectListDefinedStoragePools = RemoteProcedure(rawValue: 74)
    public static let connectFindStoragePoolSources = RemoteProcedure(rawValue: 75)
    public static let storagePoolCreateXML = RemoteProcedure(rawValue: 76)
    public static let storagePoolDefineXML = RemoteProcedure(rawValue: 77)
    public static let storagePoolCreate = RemoteProcedure(rawValue: 78)
    public static let storagePoolBuild = RemoteProcedure(rawValue: 79)
    public static let storagePoolDestroy = RemoteProcedure(rawValue: 80)
    public static let storagePoolDelete = RemoteProcedure(rawValue: 81)
    public static let storagePoolUndefine = RemoteProcedure(rawValue: 82)
    public static let storagePoolRefresh = RemoteProcedure(rawValue: 83)
    public static let storagePoolLookupByName = RemoteProcedure(rawValue: 84)
    public static let storagePoolLookupByUUID = RemoteProcedure(rawValue: 85)
    public static let storagePoolLookupByVolume = RemoteProcedure(rawValue: 86)
    public static let storagePoolGetInfo = RemoteProcedure(rawValue: 87)
    public static let storagePoolGetXMLDesc = RemoteProcedure(rawValue: 88)
    public static let storagePoolGetAutostart = RemoteProcedure(rawValue: 89)
    public static let storagePoolSetAutostart = RemoteProcedure(rawValue: 90)
    public static let storagePoolNumOfVolumes = RemoteProcedure(rawValue: 91)
    public static let storagePoolListVolumes = RemoteProcedure(rawValue: 92)
    public static let storageVolumeCreateXML = RemoteProcedure(rawValue: 93)
    public static let storageVolumeDelete = RemoteProcedure(rawValue: 94)
    public static let storageVolumeLookupByName = RemoteProcedure(rawValue: 95)
    public static let storageVolumeLookupByKey = RemoteProcedure(rawValue: 96)
    public static let storageVolumeLookupByPath = RemoteProcedure(rawValue: 97)
    public static let storageVolumeGetInfo = RemoteProcedure(rawValue: 98)
    public static let storageVolumeGetXMLDesc = RemoteProcedure(rawValue: 99)
    public static let storageVolumeGetPath = RemoteProcedure(rawValue: 100)
    public static let nodeGetFreeMemory = RemoteProcedure(rawValue: 102)
    /// Legacy lifecycle-event registration, one per connection (ret `cb_registered`).
    public static let connectDomainEventRegister = RemoteProcedure(rawValue: 105)
    public static let connectDomainEventDeregister = RemoteProcedure(rawValue: 106)
    /// A MESSAGE the server sends for legacy lifecycle registrations (no callback id).
    public static let domainEventLifecycle = RemoteProcedure(rawValue: 107)
    public static let connectGetURI = RemoteProcedure(rawValue: 110)
    public static let domainGetSecurityLabel = RemoteProcedure(rawValue: 121)
    public static let nodeGetSecurityModel = RemoteProcedure(rawValue: 122)
    public static let storageVolumeCreateXMLFrom = RemoteProcedure(rawValue: 125)
    public static let connectIsSecure = RemoteProcedure(rawValue: 149)
    public static let domainIsActive = RemoteProcedure(rawValue: 150)
    public static let domainIsPersistent = RemoteProcedure(rawValue: 151)
    public static let networkIsActive = RemoteProcedure(rawValue: 152)
    public static let networkIsPersistent = RemoteProcedure(rawValue: 153)
    public static let storagePoolIsActive = RemoteProcedure(rawValue: 154)
    public static let storagePoolIsPersistent = RemoteProcedure(rawValue: 155)
    public static let connectGetLibVersion = RemoteProcedure(rawValue: 157)
    public static let domainMemoryStats = RemoteProcedure(rawValue: 159)
    public static let domainAttachDeviceFlags = RemoteProcedure(rawValue: 160)
    public static let domainDetachDeviceFlags = RemoteProcedure(rawValue: 161)
    public static let connectBaselineCPU = RemoteProcedure(rawValue: 162)
    public static let domainGetJobInfo = RemoteProcedure(rawValue: 163)
    public static let storageVolumeWipe = RemoteProcedure(rawValue: 165)
    public static let connectDomainEventRegisterAny = RemoteProcedure(rawValue: 167)
    public static let connectDomainEventDeregisterAny = RemoteProcedure(rawValue: 168)
    /// A MESSAGE the server sends for legacy reboot registrations.
    public static let domainEventReboot = RemoteProcedure(rawValue: 169)
    public static let domainManagedSave = RemoteProcedure(rawValue: 182)
    public static let domainHasManagedSaveImage = RemoteProcedure(rawValue: 183)
    public static let domainSnapshotNum = RemoteProcedure(rawValue: 187)
    public static let domainGetBlockInfo = RemoteProcedure(rawValue: 194)
    public static let domainCreateWithFlags = RemoteProcedure(rawValue: 196)
    public static let domainGetMemoryParameters = RemoteProcedure(rawValue: 198)
    public static let domainSetVcpusFlags = RemoteProcedure(rawValue: 199)
    public static let domainGetVcpusFlags = RemoteProcedure(rawValue: 200)
    public static let domainOpenConsole = RemoteProcedure(rawValue: 201)
    public static let connectGetSysinfo = RemoteProcedure(rawValue: 203)
    public static let domainSetMemoryFlags = RemoteProcedure(rawValue: 204)
    public static let domainGetBlkioParameters = RemoteProcedure(rawValue: 206)
    public static let storageVolumeUpload = RemoteProcedure(rawValue: 208)
    public static let storageVolumeDownload = RemoteProcedure(rawValue: 209)
    public static let domainScreenshot = RemoteProcedure(rawValue: 211)
    public static let domainGetState = RemoteProcedure(rawValue: 212)
    public static let domainSendKey = RemoteProcedure(rawValue: 226)
    public static let nodeGetCPUStats = RemoteProcedure(rawValue: 227)
    public static let nodeGetMemoryStats = RemoteProcedure(rawValue: 228)
    public static let domainGetControlInfo = RemoteProcedure(rawValue: 229)
    public static let domainUndefineFlags = RemoteProcedure(rawValue: 231)
    public static let domainDestroyFlags = RemoteProcedure(rawValue: 234)
    public static let domainShutdownFlags = RemoteProcedure(rawValue: 258)
    public static let storageVolumeWipePattern = RemoteProcedure(rawValue: 259)
    public static let storageVolumeResize = RemoteProcedure(rawValue: 260)
    public static let domainGetCPUStats = RemoteProcedure(rawValue: 262)
    public static let domainSetMetadata = RemoteProcedure(rawValue: 264)
    public static let domainGetMetadata = RemoteProcedure(rawValue: 265)
    public static let domainPMWakeup = RemoteProcedure(rawValue: 267)
    public static let connectListAllDomains = RemoteProcedure(rawValue: 273)
    public static let domainListAllSnapshots = RemoteProcedure(rawValue: 274)
    public static let domainGetHostname = RemoteProcedure(rawValue: 277)
    public static let domainGetEmulatorPinInfo = RemoteProcedure(rawValue: 280)
    public static let connectListAllStoragePools = RemoteProcedure(rawValue: 281)
    public static let storagePoolListAllVolumes = RemoteProcedure(rawValue: 282)
    public static let connectListAllNetworks = RemoteProcedure(rawValue: 283)
    public static let connectListAllInterfaces = RemoteProcedure(rawValue: 284)
    public static let connectListAllNodeDevices = RemoteProcedure(rawValue: 285)
    public static let connectListAllSecrets = RemoteProcedure(rawValue: 287)
    public static let connectDomainEventCallbackRegisterAny = RemoteProcedure(rawValue: 316)
    public static let connectDomainEventCallbackDeregisterAny = RemoteProcedure(rawValue: 317)
    /// A MESSAGE the server sends to clients with a lifecycle callback registered (not a call).
    public static let domainEventCallbackLifecycle = RemoteProcedure(rawValue: 318)
    /// A MESSAGE the server sends to clients with a reboot callback registered.
    public static let domainEventCallbackReboot = RemoteProcedure(rawValue: 319)
    public static let domainGetTime = RemoteProcedure(rawValue: 337)
    public static let connectGetDomainCapabilities = RemoteProcedure(rawValue: 342)
    public static let domainOpenGraphicsFD = RemoteProcedure(rawValue: 343)
    public static let connectGetAllDomainStats = RemoteProcedure(rawValue: 344)
    public static let domainDefineXMLFlags = RemoteProcedure(rawValue: 350)
    public static let domainGetIOThreadInfo = RemoteProcedure(rawValue: 351)
    public static let domainInterfaceAddresses = RemoteProcedure(rawValue: 353)
    public static let connectRegisterCloseCallback = RemoteProcedure(rawValue: 360)
    public static let connectUnregisterCloseCallback = RemoteProcedure(rawValue: 361)
    public static let storageVolumeGetInfoFlags = RemoteProcedure(rawValue: 378)
    public static let storagePoolLookupByTargetPath = RemoteProcedure(rawValue: 391)
    public static let connectGetStoragePoolCapabilities = RemoteProcedure(rawValue: 403)
    public static let domainGetGuestInfo = RemoteProcedure(rawValue: 418)
    public static let domainGetMessages = RemoteProcedure(rawValue: 426)
    public static let networkDefineXMLFlags = RemoteProcedure(rawValue: 432)
    public static let networkCreateXMLFlags = RemoteProcedure(rawValue: 437)

    /// The public libvirt API behind the procedure ("virDomainGetInfo"), if this package knows it.
    public var apiName: String? { Self.apiNames[rawValue] }

    /// The API name, or "procedure N" for numbers this package does not name.
    public var description: String { apiName ?? "procedure \(rawValue)" }

    private static let apiNames: [Int32: String] = [
        1: "virConnectOpen",
        2: "virConnectClose",
        3: "virConnectGetType",
        4: "virConnectGetVersion",
        5: "virConnectGetMaxVcpus",
        6: "virNodeGetInfo",
        7: "virConnectGetCapabilities",
        9: "virDomainCreate",
        10: "virDomainCreateXML",
        11: "virDomainDefineXML",
        12: "virDomainDestroy",
        14: "virDomainGetXMLDesc",
        15: "virDomainGetAutostart",
        16: "virDomainGetInfo",
        17: "virDomainGetMaxMemory",
        18: "virDomainGetMaxVcpus",
        19: "virDomainGetOSType",
        20: "virDomainGetVcpus",
        21: "virConnectListDefinedDomains",
        22: "virDomainLookupByID",
        23: "virDomainLookupByName",
        24: "virDomainLookupByUUID",
        25: "virConnectNumOfDefinedDomains",
        27: "virDomainReboot",
        28: "virDomainResume",
        29: "virDomainSetAutostart",
        31: "virDomainSetMemory",
        33: "virDomainShutdown",
        34: "virDomainSuspend",
        35: "virDomainUndefine",
        36: "virConnectListDefinedNetworks",
        37: "virConnectListDomains",
        38: "virConnectListNetworks",
        39: "virNetworkCreate",
        40: "virNetworkCreateXML",
        41: "virNetworkDefineXML",
        42: "virNetworkDestroy",
        43: "virNetworkGetXMLDesc",
        44: "virNetworkGetAutostart",
        45: "virNetworkGetBridgeName",
        46: "virNetworkLookupByName",
        47: "virNetworkLookupByUUID",
        48: "virNetworkSetAutostart",
        49: "virNetworkUndefine",
        50: "virConnectNumOfDefinedNetworks",
        51: "virConnectNumOfDomains",
        52: "virConnectNumOfNetworks",
        56: "virDomainGetSchedulerType",
        59: "virConnectGetHostname",
        60: "virConnectSupportsFeature",
        64: "virDomainBlockStats",
        65: "virDomainInterfaceStats",
        71: "virConnectNumOfStoragePools",
        72: "virConnectListStoragePools",
        73: "virConnectNumOfDefinedStoragePools",
        74: "virConnectListDefinedStoragePools",
        75: "virConnectFindStoragePoolSources",
        76: "virStoragePoolCreateXML",
        77: "virStoragePoolDefineXML",
        78: "virStoragePoolCreate",
        79: "virStoragePoolBuild",
        80: "virStoragePoolDestroy",
        81: "virStoragePoolDelete",
        82: "virStoragePoolUndefine",
        83: "virStoragePoolRefresh",
        84: "virStoragePoolLookupByName",
        85: "virStoragePoolLookupByUUID",
        86: "virStoragePoolLookupByVolume",
        87: "virStoragePoolGetInfo",
        88: "virStoragePoolGetXMLDesc",
        89: "virStoragePoolGetAutostart",
        90: "virStoragePoolSetAutostart",
        91: "virStoragePoolNumOfVolumes",
        92: "virStoragePoolListVolumes",
        93: "virStorageVolCreateXML",
        94: "virStorageVolDelete",
        95: "virStorageVolLookupByName",
        96: "virStorageVolLookupByKey",
        97: "virStorageVolLookupByPath",
        98: "virStorageVolGetInfo",
        99: "virStorageVolGetXMLDesc",
        100: "virStorageVolGetPath",
        102: "virNodeGetFreeMemory",
        105: "virConnectDomainEventRegister",
        106: "virConnectDomainEventDeregister",
        110: "virConnectGetURI",
        121: "virDomainGetSecurityLabel",
        122: "virNodeGetSecurityModel",
        125: "virStorageVolCreateXMLFrom",
        149: "virConnectIsSecure",
        150: "virDomainIsActive",
        151: "virDomainIsPersistent",
        152: "virNetworkIsActive",
        153: "virNetworkIsPersistent",
        154: "virStoragePoolIsActive",
        155: "virStoragePoolIsPersistent",
        157: "virConnectGetLibVersion",
        159: "virDomainMemoryStats",
        160: "virDomainAttachDeviceFlags",
        161: "virDomainDetachDeviceFlags",
        162: "virConnectBaselineCPU",
        163: "virDomainGetJobInfo",
        165: "virStorageVolWipe",
        167: "virConnectDomainEventRegisterAny",
        168: "virConnectDomainEventDeregisterAny",
        182: "virDomainManagedSave",
        183: "virDomainHasManagedSaveImage",
        187: "virDomainSnapshotNum",
        194: "virDomainGetBlockInfo",
        196: "virDomainCreateWithFlags",
        198: "virDomainGetMemoryParameters",
        199: "virDomainSetVcpusFlags",
        200: "virDomainGetVcpusFlags",
        201: "virDomainOpenConsole",
        203: "virConnectGetSysinfo",
        204: "virDomainSetMemoryFlags",
        206: "virDomainGetBlkioParameters",
        208: "virStorageVolUpload",
        209: "virStorageVolDownload",
        211: "virDomainScreenshot",
        212: "virDomainGetState",
        226: "virDomainSendKey",
        227: "virNodeGetCPUStats",
        228: "virNodeGetMemoryStats",
        229: "virDomainGetControlInfo",
        231: "virDomainUndefineFlags",
        234: "virDomainDestroyFlags",
        258: "virDomainShutdownFlags",
        259: "virStorageVolWipePattern",
        260: "virStorageVolResize",
        262: "virDomainGetCPUStats",
        264: "virDomainSetMetadata",
        265: "virDomainGetMetadata",
        267: "virDomainPMWakeup",
        273: "virConnectListAllDomains",
        274: "virDomainListAllSnapshots",
        277: "virDomainGetHostname",
        280: "virDomainGetEmulatorPinInfo",
        281: "virConnectListAllStoragePools",
        282: "virStoragePoolListAllVolumes",
        283: "virConnectListAllNetworks",
        284: "virConnectListAllInterfaces",
        285: "virConnectListAllNodeDevices",
        287: "virConnectListAllSecrets",
        316: "virConnectDomainEventRegisterAny",
        317: "virConnectDomainEventDeregisterAny",
        337: "virDomainGetTime",
        342: "virConnectGetDomainCapabilities",
        343: "virDomainOpenGraphicsFD",
        344: "virConnectGetAllDomainStats",
        350: "virDomainDefineXMLFlags",
        351: "virDomainGetIOThreadInfo",
        353: "virDomainInterfaceAddresses",
        360: "virConnectRegisterCloseCallback",
        361: "virConnectUnregisterCloseCallback",
        378: "virStorageVolGetInfoFlags",
        391: "virStoragePoolLookupByTargetPath",
        403: "virConnectGetStoragePoolCapabilities",
        418: "virDomainGetGuestInfo",
        426: "virDomainGetMessages",
        432: "virNetworkDefineXMLFlags",
        437: "virNetworkCreateXMLFlags",
    ]
}
